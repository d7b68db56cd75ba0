//go:build wasip1

package sdk

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	witTypes "go.bytecodealliance.org/pkg/wit/types"

	fetch "wasm_exporter/sdk/wit/wasm_exporter_plugin_fetch"
)

// FetchError is a request the exporter could not make: `Kind` is the
// contract's case (denied, invalid-target, connect, timeout, too-large,
// protocol).
type FetchError struct {
	Kind    string
	Message string
}

func (e *FetchError) Error() string {
	if e.Message == "" {
		return "fetch: " + e.Kind
	}
	return fmt.Sprintf("fetch: %s: %s", e.Kind, e.Message)
}

// HTTPClient is an *http.Client whose requests go through the exporter's
// fetch, under the plugin's grants.fetch (credentials on a grant are added
// by the exporter; the plugin never sees them). Redirects are followed by
// the client as usual, each one checked against the grants.
func HTTPClient() *http.Client {
	return &http.Client{Transport: transport{}}
}

type transport struct{}

func (transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body witTypes.Option[[]uint8]
	if req.Body != nil {
		data, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = witTypes.Some(data)
	} else {
		body = witTypes.None[[]uint8]()
	}
	names := make([]string, 0, len(req.Header))
	for name := range req.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	var headers []witTypes.Tuple2[string, string]
	for _, name := range names {
		for _, v := range req.Header[name] {
			headers = append(headers, witTypes.Tuple2[string, string]{F0: name, F1: v})
		}
	}
	timeout := witTypes.None[uint32]()
	if deadline, ok := req.Context().Deadline(); ok {
		ms := time.Until(deadline).Milliseconds()
		if ms < 1 {
			ms = 1
		}
		timeout = witTypes.Some(uint32(min(ms, int64(^uint32(0)))))
	}
	r := fetch.Fetch(fetch.Request{
		Target:          req.URL.String(),
		Method:          witTypes.Some(req.Method),
		Headers:         headers,
		Body:            body,
		TlsVerify:       true,
		TimeoutMs:       timeout,
		FollowRedirects: false,
		ReadUntil:       witTypes.None[[]uint8](),
		MaxBytes:        witTypes.None[uint64](),
	})
	if r.IsErr() {
		return nil, fetchError(r.Err())
	}
	ok := r.Ok()
	header := http.Header{}
	for _, h := range ok.Headers {
		header.Add(h.F0, h.F1)
	}
	code := int(ok.Status)
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", code, http.StatusText(code)),
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(ok.Body)),
		ContentLength: int64(len(ok.Body)),
		Request:       req,
	}, nil
}

func fetchError(e fetch.FetchError) *FetchError {
	switch e.Tag() {
	case fetch.FetchErrorDenied:
		return &FetchError{"denied", e.Denied()}
	case fetch.FetchErrorInvalidTarget:
		return &FetchError{"invalid-target", e.InvalidTarget()}
	case fetch.FetchErrorConnect:
		return &FetchError{"connect", e.Connect()}
	case fetch.FetchErrorTimeout:
		return &FetchError{"timeout", ""}
	case fetch.FetchErrorTooLarge:
		return &FetchError{"too-large", fmt.Sprintf("over %d bytes", e.TooLarge())}
	default:
		return &FetchError{"protocol", e.Protocol()}
	}
}
