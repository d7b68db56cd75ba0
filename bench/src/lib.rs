//! Holds the `plugin_vs_native` criterion bench of `make bench`.
