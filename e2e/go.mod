module github.com/tracekit-go/tracekit/e2e

go 1.26

replace github.com/tracekit-go/tracekit => ../
