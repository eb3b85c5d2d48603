// Public API of @mem0-stack/cache: every export is named here (no export *).
export {};
