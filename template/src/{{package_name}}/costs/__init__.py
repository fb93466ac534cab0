"""What model calls cost, and keeping that cost inside budgets."""
