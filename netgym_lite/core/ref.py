"""Simulations by reference: the ``State`` and ``Params`` tuples as numba structrefs for the kernels.

Why: numba passes a tuple argument by value, as its flattened members; the State's ~160 arrays and the Params'
~60 members are ~1,600 machine words copied onto the stack at every call of a kernel that is not inlined (an
event handler, a scheduler). Measured on a 160-array tuple: ~220 ns per call, against ~4 ns for a structref,
which is passed as one pointer. The structref holds the very arrays of the tuple (no copy): Python code keeps
reading the tuple, the kernels write through the reference, both see the same memory.

The kernels read the reference's fields without reference counting (they never keep an array beyond the call,
and the Python side owns the tuple for the simulation's lifetime): a field read is two loads, not the atomic
increment and decrement numba's own structref getter adds. Each tuple class has a reference class of its own
(``UplinkParams`` → :class:`UplinkParamsRef`...), so the compile-time flags of ``core.state`` keep working.
"""

from __future__ import annotations

from typing import Any

from numba.core import cgutils, config, imputils, types
from numba.core.datamodel import default_manager, models
from numba.core.extending import NativeValue, box, infer_getattr, intrinsic, lower_getattr_generic, unbox
from numba.core.runtime.nrtdynmod import _meminfo_struct_type
from numba.core.typing.templates import AttributeTemplate
from numba.experimental import structref
from numba.experimental.jitclass.base import imp_dtor

from .jit import kernel
from .state import MinstrelParams, Params, State, UplinkMinstrelParams, UplinkParams


class TupleRef(types.StructRef):
    """A structref with the fields of a NamedTuple class (``tuple_class``)."""

    tuple_class: type = tuple

    def preprocess_fields(self, fields):  # noqa: ANN001, ANN201
        return tuple((name, types.unliteral(t)) for name, t in fields)


class StateRef(TupleRef):
    tuple_class = State


class ParamsRef(TupleRef):
    tuple_class = Params


class UplinkParamsRef(TupleRef):
    tuple_class = UplinkParams


class MinstrelParamsRef(TupleRef):
    tuple_class = MinstrelParams


class UplinkMinstrelParamsRef(TupleRef):
    tuple_class = UplinkMinstrelParams


REF_CLASSES = (StateRef, ParamsRef, UplinkParamsRef, MinstrelParamsRef, UplinkMinstrelParamsRef)
_REF_OF_TUPLE = {c.tuple_class: c for c in REF_CLASSES}


class SimRef(structref.StructRefProxy):
    """The Python handle of a reference (opaque: read the tuple it was made from instead)."""

    __slots__ = ()


def _field(context, builder, typ, value, attr: str):  # noqa: ANN001, ANN202
    """Load field ``attr`` of a reference. Both loads (the payload pointer from the meminfo, as numba's own
    ``NRT_MemInfo_data_fast`` does, then the field) are marked invariant: a reference's fields never change after
    it is made, so LLVM may hoist them out of loops and keep them across the kernels' stores into the arrays
    (without the mark it reloads them after every store: ~2x the time of a tight loop over arrays)."""
    invariant = builder.module.add_metadata([])
    meminfo = cgutils.create_struct_proxy(typ)(context, builder, value=value).meminfo
    info = builder.bitcast(meminfo, _meminfo_struct_type.as_pointer())
    data = builder.load(cgutils.gep(builder, info, 0, 3))
    data.set_metadata("invariant.load", invariant)
    model = context.data_model_manager[typ.get_data_type()]
    payload = builder.bitcast(data, model.get_value_type().as_pointer())
    item = builder.load(cgutils.gep(builder, payload, 0, model.get_field_position(attr)))
    item.set_metadata("invariant.load", invariant)
    return context.data_model_manager[typ.field_dict[attr]].from_data(builder, item)


def _register(ref_class: type[TupleRef]) -> None:
    default_manager.register(ref_class, models.StructRefModel)

    @infer_getattr
    class _Fields(AttributeTemplate):
        key = ref_class

        def generic_resolve(self, typ, attr):  # noqa: ANN001, ANN202
            return typ.field_dict.get(attr)

    @lower_getattr_generic(ref_class)
    def _get(context, builder, typ, value, attr):  # noqa: ANN001, ANN202
        item = _field(context, builder, typ, value, attr)
        # a borrowed reference: counted only where the caller counts (kernels run without NRT)
        return imputils.impl_ret_borrowed(context, builder, typ.field_dict[attr], item)


for _cls in REF_CLASSES:
    _register(_cls)


# Boxing, once for every reference class (numba looks boxers up along the type's MRO).
@box(TupleRef)
def _box(typ, value, c):  # noqa: ANN001, ANN202
    """A reference returned to Python: a :class:`SimRef` owning the reference the kernel returned."""
    meminfo = cgutils.create_struct_proxy(typ)(c.context, c.builder, value=value).meminfo
    boxed_meminfo = c.box(types.MemInfoPointer(types.voidptr), meminfo)
    ctor = c.pyapi.unserialize(c.pyapi.serialize_object(SimRef._numba_box_))
    typ_obj = c.pyapi.unserialize(c.pyapi.serialize_object(typ))
    handle = c.pyapi.call_function_objargs(ctor, [typ_obj, boxed_meminfo])
    for obj in (ctor, typ_obj, boxed_meminfo):
        c.pyapi.decref(obj)
    return handle


@unbox(TupleRef)
def _unbox(typ, obj, c):  # noqa: ANN001, ANN202
    """A :class:`SimRef` passed from Python. Unboxing its meminfo takes a reference, which the call's wrapper gives
    back after the call only when the kernel runs with NRT; a kernel without NRT (every ``@kernel``) never would,
    so for those the reference is given back at once (the Python handle keeps the struct alive meanwhile)."""
    mi_obj = c.pyapi.object_getattr_string(obj, "_meminfo")
    meminfo = c.unbox(types.MemInfoPointer(types.voidptr), mi_obj).value
    if not c.context.enable_nrt:
        c.pyapi.decref(c.pyapi.call_method(mi_obj, "release", ()))
    c.pyapi.decref(mi_obj)
    ref = cgutils.create_struct_proxy(typ)(c.context, c.builder)
    ref.meminfo = meminfo
    return NativeValue(ref._getvalue())


@intrinsic
def _tuple_to_ref(typingctx, tup):  # noqa: ANN001, ANN202
    ref_class = _REF_OF_TUPLE.get(getattr(tup, "instance_class", None))
    if ref_class is None:
        return None
    ref_type = ref_class(list(zip(tup.fields, tup.types, strict=True)))

    def codegen(context, builder, sig, args):  # noqa: ANN001, ANN202
        [value] = args
        alloc_type = context.data_model_manager[ref_type.get_data_type()].get_value_type()
        meminfo = context.nrt.meminfo_alloc_dtor(
            builder, context.get_constant(types.uintp, context.get_abi_sizeof(alloc_type)),
            imp_dtor(context, builder.module, ref_type))
        data = builder.bitcast(context.nrt.meminfo_data(builder, meminfo), alloc_type.as_pointer())
        builder.store(cgutils.get_null_value(alloc_type), data)
        payload = cgutils.create_struct_proxy(ref_type.get_data_type())(context, builder, ref=data)
        for i, (name, ty) in enumerate(zip(tup.fields, tup.types, strict=True)):
            item = builder.extract_value(value, i)
            context.nrt.incref(builder, ty, item)  # the reference owns its arrays (its destructor releases them)
            setattr(payload, name, item)
        ref = context.make_helper(builder, ref_type)
        ref.meminfo = meminfo
        return ref._getvalue()

    return ref_type(tup), codegen


@kernel(_nrt=True)
def _to_ref(tup):  # noqa: ANN001, ANN202
    return _tuple_to_ref(tup)


def to_ref(tup: Any) -> Any:
    """The kernels' handle of a ``State`` or ``Params`` tuple: a reference sharing its arrays (the tuple itself
    when numba's JIT is disabled)."""
    if config.DISABLE_JIT:
        return tup
    return _to_ref(tup)

