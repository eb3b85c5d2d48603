// `node --require @mem0-stack/otel/register app.js`: starts the SDK before the application
// loads, with instrumentations armed to patch their modules on first require.
import { loadRuntime } from './internal/loadRuntime';

loadRuntime().start({ instrumentationLoading: 'lazy' });
