"""Staff fan-out when one person is reached by two notices of one event: a Sales member on a
case assigned to the Sales department gets the customer's message once, not twice (two rows
would break the deliveries' unique key and stop the fan-out of every later event)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cases.events import EventKind
from cases.models import Case, Delivery, Department
from cases.records import emit
from tests.test_dispatch_batch import _cases, _Transport


async def test_a_person_in_the_department_and_in_sales_gets_one_notice(kefu: Any) -> None:
    kefu.dispatcher.transport = _Transport()
    await kefu.users.add("sun", roles=["sales"], department="sales", email="sun@supplier.example")
    await _cases(kefu, 1)
    assert await kefu.dispatcher.run_once() == 1  # the acknowledgement
    async with kefu.db.unit_of_work() as s:
        case = (await s.execute(select(Case))).scalar_one()
        case.department_id = (await s.execute(select(Department.id).where(Department.code == "sales"))).scalar_one()
        emit(s, EventKind.CUSTOMER_MESSAGE, case, case.received_at, text="还有一个问题")
        emit(s, EventKind.CASE_RATED, case, case.received_at, rating="satisfied")  # a later event

    await kefu.dispatcher.run_once()
    async with kefu.db.reader() as s:
        staff = (await s.execute(select(Delivery.template, Delivery.recipient)
                                 .where(Delivery.audience == "staff").order_by(Delivery.id))).all()
    assert staff == [("customer_message", "sun@supplier.example"), ("case_closed", "sun@supplier.example")]
