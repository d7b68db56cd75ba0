//go:build !wasip1

package sdk

import "net/http"

// HTTPClient is, natively (a plugin's `go test`), an ordinary client: the
// collector's code reaches a test server (net/http/httptest) as it would
// reach its target through the exporter.
func HTTPClient() *http.Client {
	return &http.Client{}
}
