"""Sensor drivers: BMP280 (pressure, temperature) and SCD40/SCD41 (CO2, temperature, RH).

Every failure a driver sees is raised as drivers.errors.SensorError with a .kind code.
"""
