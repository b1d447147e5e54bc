"""Key ceremony, trustee key store and partial decryption (layer 2; imports only e2e)."""
