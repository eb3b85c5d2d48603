#!/usr/bin/env node
// Checked-in launcher: npm links a workspace's bin at install time, before `npm run build`
// creates dist/, and skips bins whose file does not exist yet. This file always exists.
require('../dist/cli.js');
