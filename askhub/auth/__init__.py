"""API bearer tokens: creation, verification, and the Litestar middleware that checks them."""
