// The latency simulator on client_golang: the seed program's own library
// (a SummaryVec with its objectives, a Histogram with exemplars) fed by the
// Rust port's time model and random stream (plugins/latency-simulator:
// xoshiro256++ per service, observations caught up at each collect). With
// the same seed both see the same observations, so their quantiles measure
// how faithful the Rust port's CKMS summary is to client_golang's.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"wasm_exporter/sdk"
)

// rng is the Rust port's generator: xoshiro256++ seeded through SplitMix64.
type rng struct{ s [4]uint64 }

func seeded(seed uint64) *rng {
	r := &rng{}
	state := seed
	for i := range r.s {
		state += 0x9E3779B97F4A7C15
		z := state
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		r.s[i] = z ^ (z >> 31)
	}
	return r
}

func (r *rng) next() uint64 {
	s := &r.s
	result := bits.RotateLeft64(s[0]+s[3], 23) + s[0]
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = bits.RotateLeft64(s[3], 45)
	return result
}

func (r *rng) float64() float64 { return float64(r.next()>>11) * (1.0 / float64(uint64(1)<<53)) }

func (r *rng) normFloat64() float64 {
	for {
		u := 2*r.float64() - 1
		v := 2*r.float64() - 1
		s := u*u + v*v
		if s > 0 && s < 1 {
			return u * math.Sqrt(-2*math.Log(s)/s)
		}
	}
}

func (r *rng) expFloat64() float64 { return -math.Log(1 - r.float64()) }

func (r *rng) intn(n uint64) uint64 {
	hi, _ := bits.Mul64(r.next(), n)
	return hi
}

// The services, sorted by label value as the Rust port keeps them.
var services = []struct {
	label  string
	baseMs float64
}{{"exponential", 50}, {"normal", 75}, {"uniform", 100}}

type config struct {
	UniformDomain     float64 `json:"uniform_domain"`
	NormalDomain      float64 `json:"normal_domain"`
	NormalMean        float64 `json:"normal_mean"`
	OscillationPeriod string  `json:"oscillation_period"`
	Seed              *uint64 `json:"seed"`
}

type simulator struct {
	mu        sync.Mutex
	c         config
	period    float64
	start     time.Time
	rngs      [3]*rng
	nextAt    [3]float64
	durations *prometheus.SummaryVec
	histogram prometheus.Histogram
}

func (s *simulator) factor(t float64) float64 {
	return 2 + math.Sin(math.Sin(2*math.Pi*t/s.period))
}

func (s *simulator) draw(i int) float64 {
	r := s.rngs[i]
	switch i {
	case 0:
		return r.expFloat64() / 1e6
	case 1:
		return r.normFloat64()*s.c.NormalDomain + s.c.NormalMean
	default:
		return r.float64() * s.c.UniformDomain
	}
}

// advance makes every observation due by now (seconds since start), as the
// Rust port's Simulator::advance.
func (s *simulator) advance(now float64) {
	for i, service := range services {
		for s.nextAt[i] <= now {
			at := s.nextAt[i]
			v := s.draw(i)
			s.durations.WithLabelValues(service.label).Observe(v)
			if service.label == "normal" {
				id := strconv.FormatUint(s.rngs[i].intn(100_000), 10)
				s.histogram.(prometheus.ExemplarObserver).ObserveWithExemplar(v, prometheus.Labels{"dummyID": id})
			}
			sleepMs := math.Trunc(service.baseMs * s.factor(at))
			s.nextAt[i] = at + sleepMs/1000
		}
	}
}

func (s *simulator) Describe(ch chan<- *prometheus.Desc) {
	s.durations.Describe(ch)
	s.histogram.Describe(ch)
}

func (s *simulator) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(time.Since(s.start).Seconds())
	s.durations.Collect(ch)
	s.histogram.Collect(ch)
}

func setup(raw []byte, reg prometheus.Registerer) error {
	c := config{UniformDomain: 0.0002, NormalDomain: 0.0002, NormalMean: 0.00001, OscillationPeriod: "10m"}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return sdk.InvalidConfig("%v", err)
	}
	period, err := time.ParseDuration(c.OscillationPeriod)
	if err != nil || period <= 0 {
		return sdk.InvalidConfig("oscillation_period %q: a positive duration", c.OscillationPeriod)
	}
	seed := uint64(0)
	if c.Seed != nil {
		seed = *c.Seed
	} else {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("no random seed: %w", err)
		}
		seed = binary.LittleEndian.Uint64(b[:])
	}
	s := &simulator{c: c, period: period.Seconds(), start: time.Now()}
	for i := range s.rngs {
		s.rngs[i] = seeded(seed + uint64(i))
	}
	s.durations = prometheus.NewSummaryVec(prometheus.SummaryOpts{
		Name:       "rpc_durations_seconds",
		Help:       "RPC latency distributions.",
		Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
	}, []string{"service"})
	s.histogram = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "rpc_durations_histogram_seconds",
		Help:    "RPC latency distributions.",
		Buckets: prometheus.LinearBuckets(c.NormalMean-5*c.NormalDomain, .5*c.NormalDomain, 20),
	})
	return reg.Register(s)
}

func init() {
	sdk.Register(sdk.Metadata{
		Name:        "latency-simulator-go",
		Version:     "0.1.0",
		Description: "client_golang's examples/random on client_golang, with the Rust port's time model",
	}, setup)
}

func main() {}
