// Command k8s-schema validates Kubernetes manifests against the API's own
// schemas, offline: each document is decoded strictly into its kind's API
// type (an unknown, misspelt or duplicated field, a wrong type or a kind
// the API does not know is an error), and a built-in kind is also checked
// against the structural schema that client-go carries for server-side
// apply. The ServiceMonitor kind comes from the Prometheus Operator's API.
//
// Usage: k8s-schema FILE...; prints one line per document, exit 1 on any
// error.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/managedfields"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: k8s-schema FILE...")
		os.Exit(2)
	}
	s := runtime.NewScheme()
	if err := scheme.AddToScheme(s); err != nil {
		fail(err)
	}
	if err := monitoringv1.AddToScheme(s); err != nil {
		fail(err)
	}
	strict := serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer()
	builtin := applyconfigurations.NewTypeConverter(scheme.Scheme)
	bad := 0
	for _, file := range os.Args[1:] {
		docs, err := documents(file)
		if err != nil {
			fail(err)
		}
		for i, doc := range docs {
			kind, err := check(doc, strict, builtin)
			if err != nil {
				// The decoder quotes the whole document; its first line says why.
				msg, _, cut := strings.Cut(err.Error(), "\n")
				if cut {
					msg += " ..."
				}
				fmt.Printf("%s: document %d: %s\n", file, i+1, msg)
				bad++
				continue
			}
			fmt.Printf("%s: document %d: %s ok\n", file, i+1, kind)
		}
		if len(docs) == 0 {
			fmt.Printf("%s: no Kubernetes object\n", file)
			bad++
		}
	}
	if bad > 0 {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "k8s-schema:", err)
	os.Exit(2)
}

// documents splits a YAML stream, leaving out empty documents.
func documents(file string) ([][]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		var probe map[string]any
		if err := yaml.Unmarshal(doc, &probe); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if len(probe) > 0 {
			docs = append(docs, bytes.Clone(doc))
		}
	}
}

func check(doc []byte, strict runtime.Decoder, builtin managedfields.TypeConverter) (string, error) {
	_, gvk, err := strict.Decode(doc, nil, nil)
	if err != nil {
		return "", err
	}
	kind := gvk.GroupVersion().String() + " " + gvk.Kind
	if gvk.Group == monitoringv1.SchemeGroupVersion.Group {
		return kind, nil
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(doc, &u.Object); err != nil {
		return kind, err
	}
	if _, err := builtin.ObjectToTyped(u); err != nil {
		return kind, err
	}
	return kind, nil
}
