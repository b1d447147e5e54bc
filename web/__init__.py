"""The top layer: the root ``tohyo`` command, and later the Flask booth and pages."""
