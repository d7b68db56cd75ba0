// The collectors served natively by promhttp, the reference.
package main

import (
	"log"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gotests/equivalence/collectors"
)

func main() {
	reg := prometheus.NewRegistry()
	if err := collectors.Register(reg); err != nil {
		log.Fatal(err)
	}
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		EnableOpenMetrics:                   true,
		EnableOpenMetricsTextCreatedSamples: true,
	}))
	log.Fatal(http.ListenAndServe(os.Args[1], nil))
}
