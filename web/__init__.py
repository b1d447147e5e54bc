"""The site, on Flask: the booth, the verify page, the board browser, results, the
administrator's pages and ``tohyo admin`` (:mod:`web.admin`), the trustees' status page and
ceremony API, the HTTP JSON API, the security layer (:mod:`web.security`), and the site on
waitress (:mod:`web.server`). :func:`web.app.create_site` puts it together."""
