// Public API of @mem0-stack/logging: every export is named here (no export *).
export {};
