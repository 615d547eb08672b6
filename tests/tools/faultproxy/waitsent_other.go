// waitsent_other.go owns faultproxy's portable fallback for waiting before a reset: a short fixed pause.
//go:build !linux

package main

import (
	"net"
	"time"
)

// waitSent gives the peer a moment to receive what was written before the RST discards it.
func waitSent(_ net.Conn, max time.Duration) {
	if max > 50*time.Millisecond {
		max = 50 * time.Millisecond
	}
	time.Sleep(max)
}
