// faultproxy owns floe's test-only reverse proxy: it forwards requests byte-for-byte to one upstream and injects latency, 503/429, resets and truncated bodies on demand.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// controlPrefix marks the proxy's own API; requests under it are never forwarded.
const controlPrefix = "/__faultproxy/"

// readAheadLimit bounds how much of an unknown-length body a "truncate" rule buffers to pick its default cut.
const readAheadLimit = 1 << 20

// hopHeaders are connection-scoped (RFC 9110 §7.6.1) and are not forwarded in either direction.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// ruleSpec is the JSON body of POST /__faultproxy/rules.
type ruleSpec struct {
	Match         string `json:"match"`
	Method        string `json:"method,omitempty"`
	Action        string `json:"action"`
	Count         int    `json:"count"`
	LatencyMS     int    `json:"latency_ms,omitempty"`
	TruncateBytes *int64 `json:"truncate_bytes,omitempty"`
}

// rule is an active rule; Remaining < 0 means unlimited.
type rule struct {
	ID int64 `json:"id"`
	ruleSpec
	Remaining int `json:"remaining"`
}

type stats struct {
	Requests int64            `json:"requests"`
	BytesOut int64            `json:"bytes_out"`
	ByMethod map[string]int64 `json:"by_method"`
}

type proxy struct {
	upstream  *url.URL
	latency   time.Duration
	transport http.RoundTripper

	mu     sync.Mutex
	rules  []*rule
	nextID int64
	st     stats

	// Conditional writes (If-Match / If-None-Match) to one key are forwarded one at a time, so that a
	// server whose check-then-write is not atomic (versitygw 1.7.0) behaves atomically for every client
	// that goes through the proxy.
	keyLocksMu sync.Mutex
	keyLocks   map[string]*sync.Mutex
}

func (p *proxy) conditionalWriteLock(r *http.Request, target string) *sync.Mutex {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil
	}
	if r.Header.Get("If-Match") == "" && r.Header.Get("If-None-Match") == "" {
		return nil
	}
	key, _, _ := strings.Cut(target, "?")
	p.keyLocksMu.Lock()
	defer p.keyLocksMu.Unlock()
	if p.keyLocks == nil {
		p.keyLocks = map[string]*sync.Mutex{}
	}
	m, ok := p.keyLocks[key]
	if !ok {
		m = &sync.Mutex{}
		p.keyLocks[key] = m
	}
	return m
}

func newProxy(upstream *url.URL, latency time.Duration) *proxy {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 5 * time.Minute,
		DisableCompression:    true, // never add Accept-Encoding or decode bodies
		ForceAttemptHTTP2:     false,
	}
	return &proxy{upstream: upstream, latency: latency, transport: tr, st: stats{ByMethod: map[string]int64{}}}
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := requestTarget(r)
	if strings.HasPrefix(target, controlPrefix) {
		p.control(w, r)
		return
	}
	p.mu.Lock()
	p.st.Requests++
	p.st.ByMethod[r.Method]++
	p.mu.Unlock()

	ru := p.take(r.Method, target)
	delay := p.latency
	if ru != nil && ru.Action == "latency" {
		delay += time.Duration(ru.LatencyMS) * time.Millisecond
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if ru == nil || ru.Action == "latency" {
		if m := p.conditionalWriteLock(r, target); m != nil {
			m.Lock()
			defer m.Unlock()
		}
		p.forward(w, r, target, nil)
		return
	}
	switch ru.Action {
	case "reset":
		p.reset(w)
	case "truncate":
		p.forward(w, r, target, ru)
	default: // numeric status
		code, _ := strconv.Atoi(ru.Action)
		p.injectStatus(w, code)
	}
}

// requestTarget returns the request-target exactly as the client sent it (origin form).
func requestTarget(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		return r.RequestURI
	}
	return r.URL.RequestURI() // absolute-form or "*": best effort
}

// take returns a copy of the first live rule matching the request, consuming one of its uses.
func (p *proxy) take(method, target string) *rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, ru := range p.rules {
		if ru.Method != "" && !strings.EqualFold(ru.Method, method) {
			continue
		}
		if !strings.Contains(target, ru.Match) {
			continue
		}
		cp := *ru
		if ru.Remaining > 0 {
			ru.Remaining--
			if ru.Remaining == 0 {
				p.rules = append(p.rules[:i:i], p.rules[i+1:]...)
			}
		}
		return &cp
	}
	return nil
}

func (p *proxy) addBytes(n int64) {
	p.mu.Lock()
	p.st.BytesOut += n
	p.mu.Unlock()
}

func (p *proxy) injectStatus(w http.ResponseWriter, code int) {
	s3code := "SlowDown"
	if code != http.StatusServiceUnavailable && code != http.StatusTooManyRequests {
		s3code = "InternalError"
	}
	body := fmt.Sprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>injected by faultproxy</Message></Error>", s3code)
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Amz-Request-Id", "faultproxy")
	if code == http.StatusTooManyRequests {
		h.Set("Retry-After", "0")
	}
	w.WriteHeader(code)
	n, _ := io.WriteString(w, body)
	p.addBytes(int64(n))
}

func (p *proxy) reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // cannot hijack: abort the connection the server's way
	}
	resetClose(conn)
}

// resetClose closes conn with SO_LINGER 0 so the peer sees a TCP RST instead of a FIN.
func resetClose(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// outboundURL builds a URL whose RequestURI() is exactly target, so nothing is re-encoded.
func (p *proxy) outboundURL(target string) *url.URL {
	u := &url.URL{Scheme: p.upstream.Scheme, Host: p.upstream.Host}
	path, query, hasQuery := strings.Cut(target, "?")
	if strings.HasPrefix(path, "//") {
		// url.URL turns an Opaque starting with "//" into absolute form; fall back to Path/RawPath,
		// which is still byte-exact whenever the client's encoding is a valid one.
		if dec, err := url.PathUnescape(path); err == nil {
			u.Path, u.RawPath = dec, path
		} else {
			u.Path = path
		}
	} else {
		u.Opaque = path
	}
	u.RawQuery = query
	u.ForceQuery = hasQuery && query == ""
	return u
}

func cloneWithoutHop(h http.Header) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				out.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		out.Del(name)
	}
	return out
}

// forward sends r upstream and streams the answer back; a non-nil trunc rule cuts the body short.
func (p *proxy) forward(w http.ResponseWriter, r *http.Request, target string, trunc *rule) {
	out := &http.Request{
		Method:        r.Method,
		URL:           p.outboundURL(target),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        cloneWithoutHop(r.Header),
		ContentLength: r.ContentLength,
		Host:          r.Host, // SigV4 signs Host: keep the client's value
	}
	if r.ContentLength != 0 {
		out.Body = r.Body
	}
	if _, ok := r.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = nil // keep Go from adding its own
	}
	out = out.WithContext(r.Context())

	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		log.Printf("faultproxy: upstream %s %s: %v", r.Method, target, err)
		http.Error(w, "faultproxy: upstream error: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()

	if trunc != nil {
		p.truncate(w, r, resp, trunc)
		return
	}

	h := w.Header()
	for k, v := range cloneWithoutHop(resp.Header) {
		h[k] = v
	}
	// Stop net/http from adding headers the upstream did not send.
	for _, k := range []string{"Content-Type", "Date"} {
		if _, ok := h[k]; !ok {
			h[k] = nil
		}
	}
	w.WriteHeader(resp.StatusCode)
	n, _ := copyBody(w, resp.Body, resp.ContentLength < 0)
	p.addBytes(n)
}

// copyBody streams src to w; with flush set it flushes after every chunk (unknown-length bodies).
func copyBody(w http.ResponseWriter, src io.Reader, flush bool) (int64, error) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
			if flush {
				_ = rc.Flush()
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// truncate writes the upstream status and headers (with the full Content-Length), then only the
// first K bytes of the body, and resets the connection.
func (p *proxy) truncate(w http.ResponseWriter, r *http.Request, resp *http.Response, ru *rule) {
	length := resp.ContentLength
	var body io.Reader = resp.Body
	noBody := r.Method == http.MethodHead || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified
	if noBody {
		body = bytes.NewReader(nil) // headers go out unchanged, then the reset
	} else if length < 0 {
		pre, err := io.ReadAll(io.LimitReader(resp.Body, readAheadLimit))
		if err != nil {
			if conn := mustHijack(w); conn != nil {
				resetClose(conn)
			}
			return
		}
		if len(pre) < readAheadLimit {
			length = int64(len(pre)) // whole body seen: announce it
		}
		body = io.MultiReader(bytes.NewReader(pre), resp.Body)
		if ru.TruncateBytes == nil {
			k := int64(len(pre)) / 2
			ru.TruncateBytes = &k
		}
	}
	k := length / 2
	if ru.TruncateBytes != nil {
		k = *ru.TruncateBytes
	}
	if k < 0 || noBody {
		k = 0
	}
	if length >= 0 && k > length {
		k = length
	}

	conn := mustHijack(w)
	if conn == nil {
		return
	}
	defer resetClose(conn)
	h := cloneWithoutHop(resp.Header)
	switch {
	case noBody:
	case length >= 0:
		h.Set("Content-Length", strconv.FormatInt(length, 10))
	default:
		h.Del("Content-Length")
		h.Set("Transfer-Encoding", "chunked")
	}
	var hdr bytes.Buffer
	fmt.Fprintf(&hdr, "HTTP/1.1 %03d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	_ = h.Write(&hdr)
	hdr.WriteString("\r\n")
	if !noBody && length < 0 && k > 0 {
		fmt.Fprintf(&hdr, "%x\r\n", k) // one chunk announced in full, cut short below
	}
	if _, err := conn.Write(hdr.Bytes()); err != nil {
		return
	}
	n, _ := io.CopyN(conn, body, k)
	p.addBytes(n)
	waitSent(conn, 2*time.Second) // let the bytes reach the peer before the RST
}

func mustHijack(w http.ResponseWriter) net.Conn {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		log.Printf("faultproxy: hijack: %v", err)
		return nil
	}
	return conn
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

func (p *proxy) control(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, controlPrefix)
	switch {
	case path == "rules" && r.Method == http.MethodPost:
		var spec ruleSpec
		dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if err := validate(&spec); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		p.mu.Lock()
		p.nextID++
		ru := &rule{ID: p.nextID, ruleSpec: spec, Remaining: spec.Count}
		p.rules = append(p.rules, ru)
		cp := *ru
		p.mu.Unlock()
		writeJSON(w, http.StatusCreated, cp)
	case path == "rules" && r.Method == http.MethodDelete:
		p.mu.Lock()
		n := len(p.rules)
		p.rules = nil
		p.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]int{"cleared": n})
	case path == "rules" && r.Method == http.MethodGet:
		p.mu.Lock()
		list := make([]rule, 0, len(p.rules))
		for _, ru := range p.rules {
			list = append(list, *ru)
		}
		p.mu.Unlock()
		writeJSON(w, http.StatusOK, list)
	case path == "stats" && r.Method == http.MethodGet:
		p.mu.Lock()
		s := stats{Requests: p.st.Requests, BytesOut: p.st.BytesOut, ByMethod: make(map[string]int64, len(p.st.ByMethod))}
		for k, v := range p.st.ByMethod {
			s.ByMethod[k] = v
		}
		p.mu.Unlock()
		writeJSON(w, http.StatusOK, s)
	case path == "stats/reset" && r.Method == http.MethodPost:
		p.mu.Lock()
		p.st = stats{ByMethod: map[string]int64{}}
		p.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]bool{"reset": true})
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown control endpoint " + r.Method + " " + r.URL.Path})
	}
}

// validate checks a rule: count is N > 0 uses, or -1 for unlimited; action is one of the known ones.
func validate(s *ruleSpec) error {
	switch s.Action {
	case "503", "429", "500", "502", "reset", "truncate":
	case "latency":
		if s.LatencyMS <= 0 {
			return errors.New("latency rule needs latency_ms > 0")
		}
	default:
		return fmt.Errorf("unknown action %q (want 503, 429, 500, 502, reset, truncate or latency)", s.Action)
	}
	if s.Count == 0 || s.Count < -1 {
		return errors.New("count must be > 0, or -1 for unlimited")
	}
	s.Method = strings.ToUpper(s.Method)
	return nil
}

func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "loopback address to listen on")
	upstreamFlag := flag.String("upstream", "", "upstream base URL, e.g. http://127.0.0.1:17070")
	latency := flag.Duration("latency", 0, "latency added to every forwarded request, e.g. 20ms")
	flag.Parse()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	up, err := url.Parse(*upstreamFlag)
	if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" {
		log.Fatalf("faultproxy: -upstream must be an http(s)://host:port URL, got %q", *upstreamFlag)
	}
	if !isLoopback(*listen) {
		log.Fatalf("faultproxy: -listen must be a loopback address, got %q", *listen)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("faultproxy: %v", err)
	}
	srv := &http.Server{
		Handler:           newProxy(up, *latency),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(os.Stderr, "faultproxy: ", log.LstdFlags),
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Printf("faultproxy: listening on %s -> %s (latency %v)", ln.Addr(), up, *latency)
	select {
	case err := <-errc:
		log.Fatalf("faultproxy: %v", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Printf("faultproxy: shutdown: %v", err)
		_ = srv.Close()
	}
	log.Printf("faultproxy: stopped")
}
