package sdk_test

import (
	"context"
	"fmt"

	"github.com/tracekit-go/tracekit/tracekit/sdk"
)

func ExampleStart() {
	// With no options Start follows OTEL_* variables; here they are set in
	// code for the example's sake.
	kit, err := sdk.Start(context.Background(),
		sdk.WithServiceName("inventory"),
		sdk.WithTracesExporter(sdk.ExporterNone),
		sdk.WithoutGlobals(),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer kit.Shutdown(context.Background())
	fmt.Println(kit.Stats().Exported)
	// Output: 0
}
