// Package plugin holds the plugin that the SDK's Register set up, for the
// exports the component's bindings call (wit/export_*). It sits apart from
// package sdk so that the bindings import it without a cycle.
package plugin

import (
	t "wasm_exporter/sdk/wit/wasm_exporter_plugin_types"
)

// Plugin is what the exports call.
type Plugin interface {
	Metadata() t.PluginMetadata
	// Init returns the contract's init error, or nil.
	Init(config string) *t.InitError
	Collect() (t.Collection, error)
	Probe(target string, params [][2]string) (t.Collection, error)
}

// Current is the registered plugin; nil until Register ran.
var Current Plugin
