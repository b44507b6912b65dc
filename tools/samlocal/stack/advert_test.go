package stack

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestAdvertFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "local", AdvertFile)
	if _, err := ReadAdvert(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no advert: %v, want os.ErrNotExist", err)
	}
	first := Advert{APIURL: "http://127.0.0.1:3000", AWSEndpoint: "http://127.0.0.1:5000", Region: Region,
		OrdersTable: "tossintl-dev-orders", KeysSecret: "tossintl/dev/keys", PaymentMode: "test"}
	if err := WriteAdvert(path, first); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadAdvert(path); err != nil || got != first {
		t.Fatalf("read back %+v, %v; want %+v", got, err, first)
	}

	// A second stack on the same build directory takes the file over; the
	// first one stopping then leaves it alone.
	second := first
	second.APIURL = "http://127.0.0.1:3310"
	if err := WriteAdvert(path, second); err != nil {
		t.Fatal(err)
	}
	if err := RemoveAdvert(path, first); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadAdvert(path); err != nil || got != second {
		t.Fatalf("after the first stack stopped: %+v, %v; want the second's", got, err)
	}
	if err := RemoveAdvert(path, second); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("advert left after its stack stopped: %v", err)
	}
	if err := RemoveAdvert(path, second); err != nil {
		t.Errorf("removing a removed advert: %v", err)
	}

	// Half an advert is no stack.
	if err := os.WriteFile(path, []byte(`{"apiUrl":"http://127.0.0.1:3000"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAdvert(path); err == nil {
		t.Error("an advert without awsEndpoint was accepted")
	}
}
