"""tohyo's cryptographic core and verifier: pure functions, no I/O (except e2e.record).

Layer 1 of 4 (e2e ← trustees ← bulletin ← web). Follows the ElectionGuard Design
Specification 2.1 with the differences listed in docs/protocol.md.
"""
