// process helpers
