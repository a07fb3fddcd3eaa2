"""One company, one realm: switching a company to another QuickBooks company deliberately."""
