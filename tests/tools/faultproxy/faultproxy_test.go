// faultproxy_test.go owns faultproxy's unit tests: forwarding fidelity, injected faults, rule expiry and stats, against an httptest upstream.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// echoUpstream answers /blob/* with 1000 known bytes and anything else with a JSON echo of the request.
func echoUpstream(t *testing.T, hits *int64) *httptest.Server {
	t.Helper()
	blob := bytes.Repeat([]byte("0123456789"), 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt64(hits, 1)
		if strings.HasPrefix(r.URL.Path, "/chunked/") { // unknown length: chunked transfer encoding
			for i := 0; i < 10; i++ {
				_, _ = w.Write(blob[:100])
				w.(http.Flusher).Flush()
			}
			return
		}
		if strings.HasPrefix(r.URL.Path, "/blob/") {
			w.Header().Set("ETag", `"blob"`)
			w.Header().Set("Content-Length", "1000")
			_, _ = w.Write(blob)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "host": r.Host, "uri": r.RequestURI, "body": string(body),
			"headers": r.Header,
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func startProxy(t *testing.T, upstream string, latency time.Duration) *httptest.Server {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(newProxy(u, latency))
	t.Cleanup(ps.Close)
	return ps
}

func addRule(t *testing.T, proxyURL, spec string) {
	t.Helper()
	resp, err := http.Post(proxyURL+"/__faultproxy/rules", "application/json", strings.NewReader(spec))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("add rule %s: %d %s", spec, resp.StatusCode, b)
	}
}

func getStats(t *testing.T, proxyURL string) stats {
	t.Helper()
	resp, err := http.Get(proxyURL + "/__faultproxy/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// rawRequest sends req verbatim on a fresh connection and returns everything read until EOF or error.
func rawRequest(t *testing.T, addr, req string) ([]byte, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	return io.ReadAll(c)
}

func TestForwardPreservesHostPathQueryAndBody(t *testing.T) {
	var hits int64
	up := echoUpstream(t, &hits)
	ps := startProxy(t, up.URL, 0)
	addr := strings.TrimPrefix(ps.URL, "http://")

	target := "/bkt/dir%2Fa%3Db/%E2%82%AC~x?list-type=2&prefix=a%2Fb&continuation-token=x%2By%3D%3D&uploads="
	body := "hello body"
	req := "PUT " + target + " HTTP/1.1\r\nHost: bkt.s3.example:9999\r\nX-Amz-Date: 20250101T000000Z\r\n" +
		"Content-Length: " + fmt.Sprint(len(body)) + "\r\nConnection: close\r\n\r\n" + body
	out, err := rawRequest(t, addr, req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
	if err != nil {
		t.Fatalf("parse response: %v\n%s", err, out)
	}
	var echo struct {
		Method, Host, URI, Body string
		Headers                 http.Header
	}
	if err := json.NewDecoder(resp.Body).Decode(&echo); err != nil {
		t.Fatal(err)
	}
	if echo.Method != "PUT" || echo.Host != "bkt.s3.example:9999" || echo.URI != target || echo.Body != body {
		t.Fatalf("forwarded request changed: %+v", echo)
	}
	if echo.Headers.Get("X-Amz-Date") != "20250101T000000Z" {
		t.Fatalf("header lost: %v", echo.Headers)
	}
	for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "User-Agent", "Accept-Encoding"} {
		if _, ok := echo.Headers[h]; ok {
			t.Errorf("proxy added header %s: %v", h, echo.Headers[h])
		}
	}

	// A path starting with "//" must not turn into an absolute-form request-target.
	out, err = rawRequest(t, addr, "GET //b//k?x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"uri":"//b//k?x"`)) {
		t.Fatalf("double-slash path changed: %s", out)
	}

	// Bodies stream through unchanged in both directions, over keep-alive connections.
	client := &http.Client{}
	for i := 0; i < 3; i++ {
		resp, err := client.Get(ps.URL + "/blob/x")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) != 1000 || resp.Header.Get("ETag") != `"blob"` {
			t.Fatalf("blob: %d len %d etag %q", resp.StatusCode, len(b), resp.Header.Get("ETag"))
		}
	}
}

func TestStatusRuleExpiresAfterCount(t *testing.T) {
	var hits int64
	up := echoUpstream(t, &hits)
	ps := startProxy(t, up.URL, 0)
	addRule(t, ps.URL, `{"match":"/bkt/obj","method":"GET","action":"503","count":2}`)
	addRule(t, ps.URL, `{"match":"/bkt/slow","action":"429","count":1}`)

	// A PUT does not match the GET-only rule.
	req, _ := http.NewRequest(http.MethodPut, ps.URL+"/bkt/obj", strings.NewReader("x"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	for i, want := range []int{503, 503, 200, 200} {
		resp, err := http.Get(ps.URL + "/bkt/obj?versionId=1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET #%d: got %d want %d", i, resp.StatusCode, want)
		}
		if want == 503 && !bytes.Contains(b, []byte("<Code>SlowDown</Code>")) {
			t.Fatalf("503 body: %s", b)
		}
	}
	resp, err = http.Get(ps.URL + "/bkt/slow")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "0" {
		t.Fatalf("429 rule: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if got := atomic.LoadInt64(&hits); got != 3 {
		t.Fatalf("upstream saw %d requests, want 3 (1 PUT + 2 GET)", got)
	}

	// DELETE clears rules; bad rules are refused.
	addRule(t, ps.URL, `{"match":"","action":"503","count":-1}`)
	req, _ = http.NewRequest(http.MethodDelete, ps.URL+"/__faultproxy/rules", nil)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp, err = http.Get(ps.URL + "/bkt/obj"); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("after DELETE rules: %d", resp.StatusCode)
	}
	for _, bad := range []string{`{"action":"503"}`, `{"action":"teapot","count":1}`, `{"action":"latency","count":1}`} {
		resp, err := http.Post(ps.URL+"/__faultproxy/rules", "application/json", strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("bad rule %s accepted: %d", bad, resp.StatusCode)
		}
	}
}

func TestTruncate(t *testing.T) {
	var hits int64
	up := echoUpstream(t, &hits)
	ps := startProxy(t, up.URL, 0)
	addr := strings.TrimPrefix(ps.URL, "http://")
	addRule(t, ps.URL, `{"match":"/blob/","action":"truncate","count":1,"truncate_bytes":100}`)
	addRule(t, ps.URL, `{"match":"/blob/","action":"truncate","count":1}`)

	for _, want := range []int{100, 500} {
		out, _ := rawRequest(t, addr, "GET /blob/a HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
		if err != nil {
			t.Fatalf("parse: %v\n%q", err, out)
		}
		if resp.StatusCode != 200 || resp.ContentLength != 1000 || resp.Header.Get("ETag") != `"blob"` {
			t.Fatalf("truncate headers: %d CL %d %v", resp.StatusCode, resp.ContentLength, resp.Header)
		}
		b, err := io.ReadAll(resp.Body)
		if !errors.Is(err, io.ErrUnexpectedEOF) || len(b) != want {
			t.Fatalf("truncated body: got %d bytes, err %v; want %d bytes and unexpected EOF", len(b), err, want)
		}
		if !bytes.Equal(b, bytes.Repeat([]byte("0123456789"), 100)[:want]) {
			t.Fatalf("truncated body content differs")
		}
	}
	// Unknown length (chunked upstream): the whole body fits the read-ahead, so its length is announced.
	addRule(t, ps.URL, `{"match":"/chunked/","action":"truncate","count":1}`)
	out, _ := rawRequest(t, addr, "GET /chunked/a HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
	if err != nil {
		t.Fatalf("parse: %v\n%q", err, out)
	}
	if b, err := io.ReadAll(resp.Body); resp.ContentLength != 1000 || len(b) != 500 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("chunked truncate: CL %d, %d bytes, err %v", resp.ContentLength, len(b), err)
	}
	// HEAD: headers unchanged (Content-Length of the object), then the reset.
	addRule(t, ps.URL, `{"match":"/blob/","method":"HEAD","action":"truncate","count":1}`)
	out, _ = rawRequest(t, addr, "HEAD /blob/a HTTP/1.1\r\nHost: h\r\n\r\n")
	if !bytes.Contains(out, []byte("Content-Length: 1000\r\n")) {
		t.Fatalf("HEAD truncate headers: %q", out)
	}

	// The same through a normal client: it must report an error, never a short success.
	addRule(t, ps.URL, `{"match":"/blob/","action":"truncate","count":1}`)
	resp, err = http.Get(ps.URL + "/blob/b")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("client read a truncated body without error")
	}
}

func TestReset(t *testing.T) {
	var hits int64
	up := echoUpstream(t, &hits)
	ps := startProxy(t, up.URL, 0)
	addr := strings.TrimPrefix(ps.URL, "http://")
	addRule(t, ps.URL, `{"match":"/bkt/k","action":"reset","count":1}`)

	out, err := rawRequest(t, addr, "GET /bkt/k HTTP/1.1\r\nHost: h\r\n\r\n")
	if len(out) != 0 {
		t.Fatalf("reset sent %d bytes: %q", len(out), out)
	}
	if err == nil || !strings.Contains(err.Error(), "reset") {
		t.Fatalf("want connection reset, got %v", err)
	}
	if atomic.LoadInt64(&hits) != 0 {
		t.Fatal("reset request reached upstream")
	}
	resp, err := http.Get(ps.URL + "/bkt/k")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("after reset rule expired: %d", resp.StatusCode)
	}
}

func TestStatsAndLatency(t *testing.T) {
	var hits int64
	up := echoUpstream(t, &hits)
	ps := startProxy(t, up.URL, 20*time.Millisecond)
	addRule(t, ps.URL, `{"match":"/x","method":"HEAD","action":"503","count":1}`)
	addRule(t, ps.URL, `{"match":"/slow","action":"latency","count":1,"latency_ms":150}`)

	start := time.Now()
	for i := 0; i < 3; i++ {
		resp, err := http.Get(ps.URL + "/blob/x")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Fatalf("3 requests with 20ms latency took %v", d)
	}
	resp, err := http.Head(ps.URL + "/blob/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("HEAD rule: %d", resp.StatusCode)
	}
	start = time.Now()
	if resp, err = http.Get(ps.URL + "/slow"); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); d < 170*time.Millisecond {
		t.Fatalf("latency rule: took %v, want >= 170ms", d)
	}

	s := getStats(t, ps.URL)
	if s.Requests != 5 || s.ByMethod["GET"] != 4 || s.ByMethod["HEAD"] != 1 || s.BytesOut < 3000 {
		t.Fatalf("stats: %+v", s)
	}
	resp, err = http.Post(ps.URL+"/__faultproxy/stats/reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := getStats(t, ps.URL); s.Requests != 0 || s.BytesOut != 0 || len(s.ByMethod) != 0 {
		t.Fatalf("stats after reset: %+v", s)
	}
}

func TestManyConcurrentRequests(t *testing.T) {
	var hits int64
	up := echoUpstream(t, &hits)
	ps := startProxy(t, up.URL, 50*time.Millisecond)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 300}, Timeout: 20 * time.Second}
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, err := client.Get(fmt.Sprintf("%s/blob/%d", ps.URL, i))
			if err != nil {
				errs <- err
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || len(b) != 1000 {
				errs <- fmt.Errorf("req %d: %d bytes, %v", i, len(b), err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// With 50 ms latency each, serial handling would take 15 s.
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("%d concurrent requests took %v", n, d)
	}
}
