package engine

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"stele/internal/query"
	"stele/internal/segment"
)

// TestCachedConcurrentRuns runs queries at once through one cache (run
// it with -race), with a bound that keeps everything and one that keeps
// evicting: each answers as it does without a cache.
func TestCachedConcurrentRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	lines := genEvents(rng)
	src := sources(t, lines)["many"]
	recs := naiveRecords(t, lines)
	g := &qgen{rng: rng, fi: surveyFields(recs)}
	var texts []string
	for len(texts) < 24 {
		if text := g.query(); func() bool { _, err := query.Parse(text); return err == nil }() {
			texts = append(texts, text)
		}
	}
	run := func(text string, c *segment.Cache) []string {
		q, _ := query.Parse(text)
		var out collect
		_, err := Run(context.Background(), q, src, Options{Now: time.Unix(0, diffNow), Cache: c}, &out)
		if err != nil {
			return []string{"error: " + err.Error()}
		}
		return out.rows
	}
	want := make([][]string, len(texts))
	for i, text := range texts {
		want[i] = run(text, nil)
	}
	for _, max := range []int64{16 << 10, 64 << 20} {
		c := segment.NewCache(max)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for k := range 2 * len(texts) {
					i := (k + 5*w) % len(texts)
					if got := run(texts[i], c); !slices.Equal(got, want[i]) {
						t.Errorf("cache of %d bytes: query\n%s\ngives\n%q\nwithout a cache\n%q", max, texts[i], got, want[i])
						return
					}
				}
			})
		}
		wg.Wait()
		if st := c.Stats(); st.Hits == 0 || st.Bytes > max {
			t.Errorf("cache of %d bytes: %+v", max, st)
		}
	}
}
