package iso

import "github.com/moov-io/iso8583"

var CUPSpecForTest = cupSpec

func ISO87SpecForTest() *iso8583.MessageSpec { return iso87Spec(false) }
