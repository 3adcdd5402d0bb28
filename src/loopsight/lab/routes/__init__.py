"""The lab app's routes, one module per theme."""
