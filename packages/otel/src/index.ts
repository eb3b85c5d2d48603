// Public API of @mem0-stack/otel: every export is named here (no export *).
export {};
