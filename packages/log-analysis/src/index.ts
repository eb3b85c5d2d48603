// Public API of @mem0-stack/log-analysis: every export is named here (no export *).
export {};
