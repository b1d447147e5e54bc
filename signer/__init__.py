"""The voter-side signer: the My Number Card's JPKI signing application spoken to over
PC/SC (``signer.card``, the protocol; ``signer.pcsc``, the reader), and the local signer
service on the voter's machine that the booth asks for a signature."""
