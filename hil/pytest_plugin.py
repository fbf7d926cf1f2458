"""pytest plugin for bench tests (fixtures node, chamber, gauge, ground); filled in by the bench work."""
