// SPDX-License-Identifier: GPL-2.0

// lfheap-go grows the Go heap, drops it, returns it to the kernel with
// debug.FreeOSMemory, then idles, as a Go service does after a burst.
//
// Run with GODEBUG=madvdontneed=0 (the Go 1.12-1.15 default) the runtime
// returns the heap with MADV_FREE; with madvdontneed=1 (today's default)
// with MADV_DONTNEED.  It prints "grown MiB" and "dropped" on stdout as it
// reaches each step.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"time"
)

var heap [][]byte

func main() {
	mib := flag.Int("mib", 192, "heap to grow, in MiB")
	idle := flag.Duration("idle", 5*time.Second, "how long to idle after the drop")
	flag.Parse()

	for i := 0; i < *mib; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += os.Getpagesize() {
			b[j] = 1
		}
		heap = append(heap, b)
	}
	fmt.Println("grown", *mib)

	heap = nil
	debug.FreeOSMemory()
	fmt.Println("dropped")

	time.Sleep(*idle)
}
