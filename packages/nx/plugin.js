'use strict';
// The entry nx.json names: { "plugin": "@lockstep/nx/plugin" }. It loads only the
// inference plugin, not the executors and @lockstep/core, since Nx loads it for
// every command that computes the project graph.
module.exports = require('./dist/plugins/plugin');
