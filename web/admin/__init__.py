"""The election administrator: the ``/admin`` pages and ``tohyo admin password``.

- :mod:`web.admin.password` — the password's hash line (werkzeug.security's scrypt; lines of
  earlier versions still verify);
- :mod:`web.admin.cli` — ``tohyo admin password``, which prints that line;
- :mod:`web.admin.sessions` — the login session: idle timeout, the configured hash it is
  tied to, and the board's session epoch (a row in its database) that logout renews;
- :mod:`web.admin.charts` — the dashboard's turnout charts as SVG geometry;
- :mod:`web.admin.routes` — the blueprint: login, the dashboard and every step of the
  election (docs/admin.md); its texts are in the site's catalogs (web/translations).
"""

from web.admin.charts import turnout_charts
from web.admin.cli import admin_cli
from web.admin.password import MIN_PASSWORD, check_password, hash_line_ok, hash_password
from web.admin.routes import admin_bp

__all__ = [
    "MIN_PASSWORD",
    "admin_bp",
    "admin_cli",
    "check_password",
    "hash_line_ok",
    "hash_password",
    "turnout_charts",
]
