"""The bulletin board (layer 3; imports e2e and trustees): the insert-only RFC 9162 log on
SQLAlchemy, signed tree heads, ballot acceptance, the key ceremony's mailbox, record export,
``tohyo board``, and the JPKI gate (:mod:`bulletin.jpki`). docs/protocol.md §8 and §9."""
