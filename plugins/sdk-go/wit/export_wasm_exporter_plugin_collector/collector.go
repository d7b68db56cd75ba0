// Package export_wasm_exporter_plugin_collector answers the contract's
// collector export with the plugin registered through package sdk. Written
// by hand beside the generated bindings.
package export_wasm_exporter_plugin_collector

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"

	"wasm_exporter/sdk/internal/plugin"
	t "wasm_exporter/sdk/wit/wasm_exporter_plugin_types"
)

// Metadata names the plugin.
func Metadata() t.PluginMetadata {
	if plugin.Current == nil {
		return t.PluginMetadata{Name: "unregistered", Description: "sdk.Register was never called"}
	}
	return plugin.Current.Metadata()
}

// Init starts the plugin with its config.
func Init(config string) witTypes.Result[witTypes.Unit, t.InitError] {
	if plugin.Current == nil {
		return witTypes.Err[witTypes.Unit](t.MakeInitErrorFailed("no plugin: call sdk.Register in an init function of package main"))
	}
	if err := plugin.Current.Init(config); err != nil {
		return witTypes.Err[witTypes.Unit](*err)
	}
	return witTypes.Ok[witTypes.Unit, t.InitError](witTypes.Unit{})
}

// Collect gathers and converts.
func Collect() witTypes.Result[t.Collection, t.CollectError] {
	if plugin.Current == nil {
		return witTypes.Err[t.Collection](t.CollectError{Message: "no plugin registered"})
	}
	c, err := plugin.Current.Collect()
	if err != nil {
		return witTypes.Err[t.Collection](t.CollectError{Message: err.Error()})
	}
	return witTypes.Ok[t.Collection, t.CollectError](c)
}
