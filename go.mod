module github.com/posswitch/posswitch

go 1.26

require (
	github.com/google/go-cmp v0.7.0
	github.com/moov-io/iso8583 v0.26.1
)

require (
	github.com/moov-io/iso8583-connection v0.9.0 // indirect
	github.com/yerden/go-util v1.1.4 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/sys v0.45.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)
