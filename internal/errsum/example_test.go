package errsum_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/tracekit-go/tracekit/internal/errsum"
)

func Example() {
	s := errsum.New(func(err error) {
		var sum *errsum.Summary
		if errors.As(err, &sum) {
			fmt.Printf("%d more like: %v\n", sum.Count, sum.Last)
			return
		}
		fmt.Println(err)
	}, time.Hour, nil)
	for range 3 {
		s.Handle(errors.New("export to collector:4317 failed: connection refused"))
	}
	s.Close() // reports what was counted but not yet said
	// Output:
	// export to collector:4317 failed: connection refused
	// 2 more like: export to collector:4317 failed: connection refused
}
