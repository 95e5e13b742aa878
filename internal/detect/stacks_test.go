package detect

import (
	"reflect"
	"strings"
	"testing"
)

func TestIsSyncPCCachesPerAddress(t *testing.T) {
	inDetect := reflect.ValueOf(isSyncFrame).Pointer() + 1 // a return address inside it
	outside := reflect.ValueOf(strings.ToUpper).Pointer() + 1
	// An address 64 KiB on, which the table files in inDetect's slot.
	sameSlot := inDetect + uintptr(len(syncPCs))<<8
	if syncSlot(sameSlot) != syncSlot(inDetect) {
		t.Fatal("the two addresses are cached in different slots")
	}
	for range 3 {
		if !isSyncPC(inDetect) {
			t.Fatal("an address in package detect is not a lock frame")
		}
		if isSyncPC(outside) {
			t.Fatal("an address in strings.ToUpper is a lock frame")
		}
		_ = isSyncPC(sameSlot) // evicts inDetect; the answer is recomputed next time
	}
}
