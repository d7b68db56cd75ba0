// Package export_wasm_exporter_plugin_prober answers the contract's prober
// export with the plugin registered through package sdk. Written by hand
// beside the generated bindings.
package export_wasm_exporter_plugin_prober

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"

	"wasm_exporter/sdk/internal/plugin"
	t "wasm_exporter/sdk/wit/wasm_exporter_plugin_types"
)

// Probe collects from one target named by the scrape.
func Probe(target string, params []witTypes.Tuple2[string, string]) witTypes.Result[t.Collection, t.CollectError] {
	if plugin.Current == nil {
		return witTypes.Err[t.Collection](t.CollectError{Message: "no plugin registered"})
	}
	pairs := make([][2]string, len(params))
	for i, p := range params {
		pairs[i] = [2]string{p.F0, p.F1}
	}
	c, err := plugin.Current.Probe(target, pairs)
	if err != nil {
		return witTypes.Err[t.Collection](t.CollectError{Message: err.Error()})
	}
	return witTypes.Ok[t.Collection, t.CollectError](c)
}
