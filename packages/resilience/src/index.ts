// Public API of @mem0-stack/resilience: every export is named here (no export *).
export {};
