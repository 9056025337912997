"""The departments named by the procedure (section 5 and the workflow)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DepartmentSeed:
    code: str
    name_zh: str
    name_en: str


DEPARTMENTS: tuple[DepartmentSeed, ...] = (
    DepartmentSeed("sales", "销售部", "Sales"),
    DepartmentSeed("quality", "质量部", "Quality"),
    DepartmentSeed("production_equipment", "生产装备部", "Production Equipment"),
    DepartmentSeed("technical_development", "技术开发部", "Technical Development"),
    DepartmentSeed("general_management", "综合管理部", "General Management"),
)
