// Test support: temporary directories, process launchers.
