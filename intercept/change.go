package intercept

// Object is one of Mediation, Stream, IPFilter or MACFilter (values, not
// pointers).
type Object interface{ isObject() }

func (Mediation) isObject() {}
func (Stream) isObject()    {}
func (IPFilter) isObject()  {}
func (MACFilter) isObject() {}

// Op is what a Change does.
type Op uint8

const (
	// OpUpsert creates the object or replaces it as a whole.
	OpUpsert Op = iota + 1
	// OpDelete removes the object named by the key of Object; deleting an
	// object that does not exist is not an error (SNMP destroy).
	OpDelete
	// OpUpdate replaces an object that must exist: what a binding sends
	// for a row that existed before the request, so an object the engine
	// removed meanwhile (a timeout) is not brought back.
	OpUpdate
)

func (o Op) String() string {
	switch o {
	case OpUpsert:
		return "upsert"
	case OpDelete:
		return "delete"
	case OpUpdate:
		return "update"
	}
	return "op?"
}

// Change is one step of a change set.
type Change struct {
	Op     Op
	Object Object
}

// Upsert returns a change that creates or replaces o.
func Upsert(o Object) Change { return Change{Op: OpUpsert, Object: o} }

// Update returns a change that replaces o, which must exist.
func Update(o Object) Change { return Change{Op: OpUpdate, Object: o} }

// DeleteMediation returns a change that removes the mediation device id.
func DeleteMediation(id ContentID) Change {
	return Change{Op: OpDelete, Object: Mediation{ContentID: id}}
}

// DeleteStream returns a change that removes the generic stream k.
func DeleteStream(k StreamKey) Change { return Change{Op: OpDelete, Object: Stream{Key: k}} }

// DeleteIPFilter returns a change that removes the IP filter k.
func DeleteIPFilter(k StreamKey) Change { return Change{Op: OpDelete, Object: IPFilter{Key: k}} }

// DeleteMACFilter returns a change that removes the MAC filter k.
func DeleteMACFilter(k StreamKey) Change { return Change{Op: OpDelete, Object: MACFilter{Key: k}} }
