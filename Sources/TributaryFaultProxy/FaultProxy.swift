// The fault-injecting TCP proxy library (being written on branch `proxy`).
