// waitsent_linux.go owns faultproxy's Linux wait for a socket's send queue to drain (SIOCOUTQ) before a reset.
package main

import (
	"net"
	"syscall"
	"time"
	"unsafe"
)

// waitSent waits (at most max) until the kernel reports no unacknowledged bytes queued on conn.
func waitSent(conn net.Conn, max time.Duration) {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		var queued int32
		cerr := raw.Control(func(fd uintptr) {
			_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&queued)))
			if errno != 0 {
				queued = 0
			}
		})
		if cerr != nil || queued == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
