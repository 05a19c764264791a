"""trygghetskarta."""
