"""Reconciliation: re-read what QBO holds and prove it matches what we synced (PRD: data accuracy 100 %)."""
