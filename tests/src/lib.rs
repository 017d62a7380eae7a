//! Support for the end-to-end tests: starts Bugsink and reads back what it stored.
