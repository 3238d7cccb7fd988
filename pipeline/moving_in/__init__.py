"""Moving in from Follow Up Boss or Podio: their exports read, people made leads with their
owners, numbers, tags, notes and tasks, mapped stages and agents (docs/moving-in.md)."""
